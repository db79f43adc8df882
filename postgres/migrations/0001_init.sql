-- 1: bars, the fetch log, the ledger of live forecasts and the model
-- registry. Dates are closecast.Date (days since 1970-01-01 UTC) and times
-- Unix seconds, as in the SQLite store, so `db copy` moves rows unchanged.
CREATE TABLE bars (
	symbol     text             NOT NULL,
	date       integer          NOT NULL,
	open       double precision NOT NULL CHECK (open > 0),
	high       double precision NOT NULL CHECK (high > 0),
	low        double precision NOT NULL CHECK (low > 0),
	close      double precision NOT NULL CHECK (close > 0),
	volume     double precision NOT NULL CHECK (volume >= 0),
	fetched_at bigint           NOT NULL,
	PRIMARY KEY (symbol, date)
);
CREATE TABLE fetch_log (
	id        bigserial PRIMARY KEY,
	symbol    text    NOT NULL,
	from_date integer NOT NULL,
	to_date   integer NOT NULL,
	added     integer NOT NULL,
	updated   integer NOT NULL,
	error     text    NOT NULL DEFAULT '',
	at        bigint  NOT NULL
);
CREATE INDEX fetch_log_symbol ON fetch_log (symbol, id);
CREATE TABLE predictions (
	id            bigserial PRIMARY KEY,
	requested_at  bigint           NOT NULL,
	symbol        text             NOT NULL,
	target_date   integer          NOT NULL,
	model_version text             NOT NULL,
	value         double precision NOT NULL,
	last_close    double precision NOT NULL CHECK (last_close > 0),
	actual        double precision,
	error         double precision,
	scored_at     bigint,
	UNIQUE (symbol, target_date, model_version)
);
-- "pending" of /api/accuracy counts these.
CREATE INDEX predictions_pending ON predictions (symbol, target_date) WHERE actual IS NULL;
CREATE TABLE models (
	version   text   PRIMARY KEY,
	symbol    text   NOT NULL,
	created   bigint NOT NULL, -- Unix nanoseconds of the training
	pushed    bigint NOT NULL, -- Unix nanoseconds of the push
	checksum  text   NOT NULL, -- model.json's own SHA-256
	size      bigint NOT NULL,
	metrics   text   NOT NULL  -- model.json's metrics, as written
);
CREATE INDEX models_symbol ON models (symbol, created);
CREATE TABLE model_files (
	version text  NOT NULL REFERENCES models ON DELETE CASCADE,
	name    text  NOT NULL,
	data    bytea NOT NULL,
	PRIMARY KEY (version, name)
);
-- One champion per symbol: the primary key is the rule.
CREATE TABLE champions (
	symbol   text   PRIMARY KEY,
	version  text   NOT NULL REFERENCES models,
	promoted bigint NOT NULL -- Unix nanoseconds
);
