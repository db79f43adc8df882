-- 2: the fetch lease (see lease.go): while a row names a holder and its
-- expiry is ahead, that process is fetching the symbol's missing days, and
-- the others wait for it instead of asking the provider too.
CREATE TABLE fetch_leases (
	symbol text   PRIMARY KEY,
	holder text   NOT NULL, -- a random token of the holding process's lease
	until  bigint NOT NULL  -- Unix milliseconds, on the database's clock
);
