-- 3: the forecast distribution of each ledger row (see ledger.go): the
-- closes at closecast.DistributionLevels, NULL on rows recorded before,
-- which stay valid and are simply not distribution-scored.
ALTER TABLE predictions ADD COLUMN quantiles float8[];
