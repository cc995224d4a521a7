"""Stance classification toward claims: assert / deny / warn (or any configured label set).

Stages, one module each, data flowing one way: config -> data -> features -> models ->
evaluate -> tracking -> export; predict loads an exported model without MLflow or datasets.
"""

__version__ = "0.1.0"
