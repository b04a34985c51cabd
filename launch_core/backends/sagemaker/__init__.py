"""``sagemaker``: a job run as an Amazon SageMaker training job."""
