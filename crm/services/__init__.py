"""The crm app's services, one module per sub-domain.

`create_default_pipeline` is also reachable here because other apps create
organizations through it by this name.
"""

from crm.services.pipeline import create_default_pipeline

__all__ = ["create_default_pipeline"]
