"""The V2 half: snippet -> knowledge -> plan -> builds -> validations -> search -> emit."""
