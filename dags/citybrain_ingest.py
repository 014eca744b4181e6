"""Airflow ingestion DAGs, one per provider department, generated from the catalogue.

Wiring only: the DAG factory (citybrain.orchestration.dag_factory) holds the layout and the logic.
"""

from citybrain.catalog import get_catalog
from citybrain.orchestration.dag_factory import build_department_dags

for _dag_id, _dag in build_department_dags(get_catalog()).items():
    globals()[_dag_id] = _dag
