"""The FHIR code systems, URLs and code mappings goalflow's FHIR export and import use."""

from __future__ import annotations

from typing import Final

from goalflow.errors import InvalidCommand

RELEASES: Final = ("R5", "R4B")

GOAL_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/goal-category"
BEHAVIORAL: Final = {"system": GOAL_CATEGORY, "code": "behavioral", "display": "Behavioral"}
LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
SCORE: Final = "{score}"

ACCEPTANCE: Final = "http://hl7.org/fhir/StructureDefinition/goal-acceptance"
ACCEPTANCE_STATUSES: Final = ("agree", "disagree", "pending")

GOALFLOW_BASE: Final = "https://goalflow.dev/fhir/StructureDefinition"
"""The canonical base of goalflow's own extensions (their definitions are in the README)."""
STEP: Final = f"{GOALFLOW_BASE}/goal-step"
NOTE_KIND: Final = f"{GOALFLOW_BASE}/note-kind"
NOTE_KINDS: Final = ("client-words", "strength")

PARTICIPANT_TYPE: Final = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
PARTICIPATION_TYPE: Final = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
R4B_PROVENANCE_REASON: Final = "http://hl7.org/fhir/4.3/StructureDefinition/extension-Provenance.reason"
"""HL7's cross-version extension for R4B's Provenance.reason, in an R5 Provenance."""
DATA_OPERATION: Final = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"

LIFECYCLE_STATUSES: Final = (
    "proposed", "planned", "accepted", "active", "on-hold", "completed", "cancelled",
    "entered-in-error", "rejected",
)
"""The goal-status value set (required binding of Goal.lifecycleStatus), R4B and R5 alike."""

# The two instruments goalflow knows a LOINC code for: their total scores.
INSTRUMENT_LOINC: Final = {
    "PHQ-9": ("44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score"),
    "GAD-7": ("70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score"),
}
LOINC_INSTRUMENT: Final = {code: name for name, (code, _) in INSTRUMENT_LOINC.items()}

COMPARATOR: Final = {"decrease": "<=", "increase": ">="}
DIRECTION: Final = {"<=": "decrease", "<": "decrease", ">=": "increase", ">": "increase"}


def check_release(release: object) -> str:
    """The release named, R5 or R4B; anything else is refused naming the choices."""
    if release not in RELEASES:
        raise InvalidCommand(f"release must be one of {', '.join(RELEASES)}, not {release!r}",
                             field="release")
    return str(release)


def person(role: str, actor_id: str) -> str:
    """The FHIR reference for someone in a goalflow role."""
    if role in ("clinician", "supervisor"):
        return f"Practitioner/{actor_id}"
    if role == "guardian":
        return f"RelatedPerson/{actor_id}"
    return f"Patient/{actor_id}"
