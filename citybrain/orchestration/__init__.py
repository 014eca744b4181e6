"""Airflow wiring: environment, DAG policy defaults and helpers shared by dags/."""
