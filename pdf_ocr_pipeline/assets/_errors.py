import contextlib
from collections.abc import Iterator

import dagster as dg

from ..errors import EngineUnavailableError, PipelineError

#: Transient trouble (an engine not answering, out of memory) is retried with growing waits.
TRANSIENT_RETRY = dg.RetryPolicy(max_retries=3, delay=20, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


@contextlib.contextmanager
def pipeline_errors() -> Iterator[None]:
    """Our typed errors as Dagster understands them: an engine that does not answer is retried later; a bad
    file or a missing dependency fails at once, without retries, with the message and its hint."""
    try:
        yield
    except EngineUnavailableError as e:
        raise dg.RetryRequested(max_retries=5, seconds_to_wait=30) from e
    except PipelineError as e:
        raise dg.Failure(description=str(e), allow_retries=False) from e
