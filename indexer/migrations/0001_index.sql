-- The ddrm index. One schema for SQLite and PostgreSQL: only types both understand (BIGINT,
-- TEXT). Amounts in wei (or token base units) are canonical decimal TEXT (no sign, no leading
-- zeros), exact to any uint256; order them numerically with ORDER BY length(x), x.
-- Addresses, hashes and content ids are lowercase 0x-hex TEXT (content ids 32 bytes).
--
-- Two kinds of table. Facts (raw_events, blocks and every table with a block_number column
-- holding one row per event) are appended per block. State (contents, renderers,
-- royalty_holders, access_tokens, access_expiry, listings, offers) is a fold of the events in
-- chain order. After a reorganisation the rows of dropped blocks are deleted and the state is
-- folded again from raw_events.

-- Per-block checkpoint: every block that holds an indexed event, and the last block indexed
-- (the head, where indexing resumes; replaced by the next range's last block unless it holds
-- events).
CREATE TABLE blocks (
    block_number BIGINT PRIMARY KEY,
    block_hash   TEXT NOT NULL,
    parent_hash  TEXT NOT NULL,
    block_time   BIGINT NOT NULL
);

-- Every log of the deployed contracts, as received: one row per block hash and log index.
CREATE TABLE raw_events (
    block_hash   TEXT NOT NULL,
    log_index    BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    tx_hash      TEXT NOT NULL,
    address      TEXT NOT NULL,
    name         TEXT NOT NULL,
    topics       TEXT NOT NULL,
    data         TEXT NOT NULL,
    PRIMARY KEY (block_hash, log_index)
);
CREATE INDEX raw_events_order ON raw_events (block_number, log_index);

-- Contents and their current terms (TermsSet replaces them).
CREATE TABLE contents (
    content_id          TEXT PRIMARY KEY,
    creator             TEXT NOT NULL,
    payment_token       TEXT NOT NULL,
    key_commitment      TEXT NOT NULL,
    cid                 TEXT NOT NULL,
    registered_block    BIGINT NOT NULL,
    registered_time     BIGINT NOT NULL,
    price               TEXT NOT NULL,
    rent_price          TEXT NOT NULL,
    rent_period         BIGINT NOT NULL,
    subscription_price  TEXT NOT NULL,
    subscription_period BIGINT NOT NULL,
    max_editions        BIGINT NOT NULL,
    resale_royalty_bps  BIGINT NOT NULL,
    -- RoyaltyShares' cumulative revenue per share of this content (wei per share).
    revenue_per_share   TEXT NOT NULL,
    -- Sum of RevenueDistributed.amount (primary sales, resale royalties, vault sweeps).
    revenue_total       TEXT NOT NULL,
    sales               BIGINT NOT NULL,
    editions_sold       BIGINT NOT NULL
);
CREATE INDEX contents_creator ON contents (creator);

-- Renderer capsules currently allowed by the creator.
CREATE TABLE renderers (
    content_id  TEXT NOT NULL,
    measurement TEXT NOT NULL,
    PRIMARY KEY (content_id, measurement)
);

-- Access sales: kind 'buy' (perpetual token, edition), 'rental' or 'subscription' (periods, expiry).
CREATE TABLE access_grants (
    block_hash   TEXT NOT NULL,
    log_index    BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    block_time   BIGINT NOT NULL,
    tx_hash      TEXT NOT NULL,
    content_id   TEXT NOT NULL,
    account      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    paid         TEXT NOT NULL,
    edition      BIGINT,
    periods      BIGINT,
    expires_at   BIGINT,
    renewed      BIGINT,
    PRIMARY KEY (block_hash, log_index)
);
CREATE INDEX access_grants_account ON access_grants (account, content_id);
CREATE INDEX access_grants_content ON access_grants (content_id, block_number);

-- Current timed-access expiry (Access.expiresAt) per account and content.
CREATE TABLE access_expiry (
    account    TEXT NOT NULL,
    content_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (account, content_id)
);

-- Perpetual access tokens held (Access ERC-1155 balances; resold tokens move).
CREATE TABLE access_tokens (
    account    TEXT NOT NULL,
    content_id TEXT NOT NULL,
    balance    BIGINT NOT NULL,
    PRIMARY KEY (account, content_id)
);

-- RoyaltyShares' per-holder record, mirrored: shares, checkpoint of revenue per share, settled
-- and unclaimed revenue. claimable = owed + shares * (contents.revenue_per_share - checkpoint).
CREATE TABLE royalty_holders (
    content_id TEXT NOT NULL,
    account    TEXT NOT NULL,
    shares     BIGINT NOT NULL,
    checkpoint TEXT NOT NULL,
    owed       TEXT NOT NULL,
    PRIMARY KEY (content_id, account)
);
CREATE INDEX royalty_holders_account ON royalty_holders (account);

-- One row per RevenueDistributed: a sale's revenue and its split.
CREATE TABLE revenue (
    block_hash   TEXT NOT NULL,
    log_index    BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    block_time   BIGINT NOT NULL,
    tx_hash      TEXT NOT NULL,
    content_id   TEXT NOT NULL,
    payer        TEXT NOT NULL,
    token        TEXT NOT NULL,
    amount       TEXT NOT NULL,
    fee          TEXT NOT NULL,
    pool         TEXT NOT NULL,
    per_share    TEXT NOT NULL,
    dust         TEXT NOT NULL,
    PRIMARY KEY (block_hash, log_index)
);
CREATE INDEX revenue_content ON revenue (content_id, block_number);

CREATE TABLE claims (
    block_hash   TEXT NOT NULL,
    log_index    BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    block_time   BIGINT NOT NULL,
    tx_hash      TEXT NOT NULL,
    content_id   TEXT NOT NULL,
    account      TEXT NOT NULL,
    token        TEXT NOT NULL,
    amount       TEXT NOT NULL,
    PRIMARY KEY (block_hash, log_index)
);
CREATE INDEX claims_account ON claims (account, content_id);

-- Market listings; collection is 'shares' (RoyaltyShares) or 'access' (Access tokens).
-- status: 'open', 'filled' (remaining 0) or 'cancelled'.
CREATE TABLE listings (
    listing_id   BIGINT PRIMARY KEY,
    seller       TEXT NOT NULL,
    collection   TEXT NOT NULL,
    content_id   TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    remaining    BIGINT NOT NULL,
    unit_price   TEXT NOT NULL,
    status       TEXT NOT NULL,
    block_number BIGINT NOT NULL,
    block_time   BIGINT NOT NULL
);
CREATE INDEX listings_book ON listings (content_id, collection, status);

-- Market offers (payment escrowed); refunded is set when cancelled.
CREATE TABLE offers (
    offer_id     BIGINT PRIMARY KEY,
    buyer        TEXT NOT NULL,
    collection   TEXT NOT NULL,
    content_id   TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    remaining    BIGINT NOT NULL,
    unit_price   TEXT NOT NULL,
    status       TEXT NOT NULL,
    refunded     TEXT,
    block_number BIGINT NOT NULL,
    block_time   BIGINT NOT NULL
);
CREATE INDEX offers_book ON offers (content_id, collection, status);

-- Fills: one row per Traded event. listing_id or offer_id is NULL (the contract's zero).
-- unit_price = price / amount (exact: the market charges unit price x amount).
CREATE TABLE trades (
    block_hash   TEXT NOT NULL,
    log_index    BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    block_time   BIGINT NOT NULL,
    tx_hash      TEXT NOT NULL,
    listing_id   BIGINT,
    offer_id     BIGINT,
    collection   TEXT NOT NULL,
    content_id   TEXT NOT NULL,
    seller       TEXT NOT NULL,
    buyer        TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    price        TEXT NOT NULL,
    unit_price   TEXT NOT NULL,
    royalty      TEXT NOT NULL,
    PRIMARY KEY (block_hash, log_index)
);
CREATE INDEX trades_content ON trades (content_id, collection, block_number);

-- Royalty share movements (mint, transfers, market fills), for cap-table history.
CREATE TABLE share_transfers (
    block_hash   TEXT NOT NULL,
    log_index    BIGINT NOT NULL,
    seq          BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    block_time   BIGINT NOT NULL,
    content_id   TEXT NOT NULL,
    from_account TEXT NOT NULL,
    to_account   TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    PRIMARY KEY (block_hash, log_index, seq)
);
CREATE INDEX share_transfers_content ON share_transfers (content_id, block_number);
