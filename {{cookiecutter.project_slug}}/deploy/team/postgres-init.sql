-- Runs once, when the PostgreSQL volume is new: MLflow's users and permissions get their own
-- database beside the tracking one (`mlflow`), so that `mlflow db upgrade` never touches them.
CREATE DATABASE mlflow_auth OWNER mlflow;
