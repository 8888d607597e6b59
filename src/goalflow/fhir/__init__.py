"""FHIR Goal exchange: goals as HL7 FHIR R5 or R4B resources, their history and provenance,
and goals brought in from FHIR (see README, "FHIR")."""

from goalflow.fhir.codes import RELEASES

__all__ = ["RELEASES"]
