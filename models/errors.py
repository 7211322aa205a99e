"""The one exception every rule raises when it refuses a change."""


class RuleViolation(Exception):
    """A change the rules refuse. `message` is a translatable msgid."""

    def __init__(self, message, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


class InvalidFields(RuleViolation):
    """Several fields refused at once: `refusals` holds each field's RuleViolation."""

    def __init__(self, refusals):
        first = refusals[0]
        super().__init__(first.message, **first.params)
        self.refusals = refusals
