"""Recommendation feedback for ListenBrainz: what decisions queued in lb_feedback.json, sent at lb-fetch's run.

With ``listenbrainz.send_feedback`` on, an approval or rejection of a
ListenBrainz suggestion queues a rating for the recording ListenBrainz
recommended (``app.learning.feedback_rating``; ``app/repository/feedback.py``
queues it in the decision's own transaction). The web request never talks to
ListenBrainz: lb-fetch calls ``send_queued`` at the start of each run, which
sends them oldest first, one request each (ListenBrainz takes one feedback per
request), within ListenBrainz's rate limit (the client obeys its headers).

Each one is recorded sent as soon as ListenBrainz says ok, so nothing is sent
twice. A lost reply leaves it queued and it is sent again: ListenBrainz keeps
one rating per user and recording, so that changes nothing. Transient failures
are retried by the client with backoff; one that still fails leaves it and the
rest queued for the next run. A rating ListenBrainz refuses (400) is recorded
as failed with its reason and not sent again; a missing or refused token
leaves that user's ratings queued until the token is fixed. Each rating goes
with the token of the household member who decided (``decided_by``), or the
global ``listenbrainz.token`` when they have none.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from app.clients.http import AuthError, BadRequest, UpstreamError
from app.household import member_named
from app.pipelines import JobContext, upstream
from app.records import utc_now_iso
from app.text import count_of

log = logging.getLogger("resonance.feedback")


@dataclass
class FeedbackReport:
    sent: int = 0
    refused: int = 0
    left: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"sent {count_of(self.sent, 'rating')} to ListenBrainz"]
        if self.refused:
            parts.append(f"{self.refused} refused by ListenBrainz")
        if self.left:
            parts.append(f"{self.left} left for the next run ({'; '.join(dict.fromkeys(self.problems))})")
        return ", ".join(parts)


def token_for(ctx: JobContext, decided_by: str | None) -> str | None:
    """The ListenBrainz token a decision's feedback is sent with: the deciding member's
    (``app.household``), else the global ``listenbrainz.token``."""
    member = member_named(ctx.settings, decided_by) if decided_by else None
    return (member.listenbrainz_token if member else "") or ctx.settings.listenbrainz.token or None


def send_queued(ctx: JobContext, lb=None) -> FeedbackReport | None:
    """Send the queued ratings (see the module's doc); None when there was nothing to do."""
    if not ctx.settings.listenbrainz.send_feedback:
        return None
    queued = ctx.repository.unsent_feedback()
    if not queued:
        return None
    lb = lb or upstream.listenbrainz(ctx.settings)
    report = FeedbackReport()
    refused_tokens: set[str] = set()
    for number, entry in enumerate(queued):
        token = token_for(ctx, entry.get("decided_by"))
        if not token or token in refused_tokens:
            report.left += 1
            report.problems.append("no ListenBrainz token" if not token else "the token was refused")
            continue
        try:
            lb.submit_recommendation_feedback(entry["recording_mbid"], entry["rating"], token=token)
        except BadRequest as exc:
            ctx.repository.mark_feedback(entry, failed=exc.message)
            report.refused += 1
            log.warning("ListenBrainz refused the %s rating of recording %s: %s", entry["rating"],
                        entry["recording_mbid"], exc.message)
            continue
        except AuthError as exc:
            refused_tokens.add(token)
            report.left += 1
            report.problems.append(f"the token was refused: {exc.message}")
            continue
        except UpstreamError as exc:
            # Already retried with backoff: ListenBrainz is struggling; the rest waits for the next run.
            report.left += len(queued) - number
            report.problems.append(exc.message)
            break
        ctx.repository.mark_feedback(entry, sent_at=utc_now_iso())
        report.sent += 1
    (log.warning if report.left or report.refused else log.info)("feedback: %s", report.summary())
    return report
