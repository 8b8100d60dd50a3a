"""First step of the team stack (compose.yml, service `init`): check the secrets, make the buckets.

A secret still set to the placeholder of .env.example stops the stack here, before MLflow
starts with it. Then each bucket in ``BUCKETS`` (the MLflow artifacts, the DVC remote) is
created unless it exists, so running it again changes nothing.
"""

import os
import sys

PLACEHOLDER = "change-me"
SECRETS = (
    "AWS_SECRET_ACCESS_KEY",
    "POSTGRES_PASSWORD",
    "MLFLOW_ADMIN_PASSWORD",
    "MLFLOW_SECRET_KEY",
)
MIN_SECRET_LENGTH = 12


def weak_secrets(environ: dict[str, str]) -> list[str]:
    """The secrets that are missing, still the placeholder, or too short to be one."""
    return [
        name
        for name in SECRETS
        if PLACEHOLDER in environ.get(name, PLACEHOLDER)
        or len(environ.get(name, "")) < MIN_SECRET_LENGTH
    ]


def create_buckets(endpoint: str, names: list[str]) -> None:
    import boto3  # only in the stack's image

    client = boto3.client("s3", endpoint_url=endpoint)
    existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
    for name in names:
        if name not in existing:
            client.create_bucket(Bucket=name)
        print(f"bucket {name}: ready")


def main() -> int:
    weak = weak_secrets(dict(os.environ))
    if weak:
        print(
            f"deploy/team/.env: set {', '.join(weak)} to random values of at least "
            f"{MIN_SECRET_LENGTH} characters (e.g. `openssl rand -hex 24`), then `up -d` again.",
            file=sys.stderr,
        )
        return 2
    create_buckets(os.environ["MLFLOW_S3_ENDPOINT_URL"], os.environ["BUCKETS"].split())
    return 0


if __name__ == "__main__":
    sys.exit(main())
