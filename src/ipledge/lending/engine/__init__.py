"""Pure lending engines (no Django): repayment schedules (`schedule`), arrears (`arrears`), classification and
indicators. Money is integer fen, rates are `Decimal`; the Django side converts models to these inputs."""
