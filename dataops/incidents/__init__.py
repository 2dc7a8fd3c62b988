"""Security incidents (R27): the record, its report clock, who is affected, the escalations."""
