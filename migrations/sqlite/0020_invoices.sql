-- Referrals and the invoices that follow them (src/invoice/). A referral is an
-- outgoing referral letter (kind suunamiskiri) with its terms; an invoice is a
-- registered document read as an e-invoice (UBL 2.1, CII, e-arve 1.2) or as a
-- PDF's text. Written only by the register, in the registering transaction or
-- with the approval's audit event; amounts and quantities are exact decimals
-- kept as text.
CREATE TABLE referrals (
    doc_id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    provider_code TEXT NOT NULL,
    provider_name TEXT NOT NULL,
    person_name TEXT NOT NULL,
    person_code TEXT,
    service TEXT NOT NULL,
    unit TEXT NOT NULL,
    units TEXT NOT NULL,
    unit_price_limit TEXT,
    total_limit TEXT,
    valid_from TEXT NOT NULL,
    valid_to TEXT NOT NULL
);
CREATE INDEX referrals_provider ON referrals (provider_code);
CREATE TABLE invoices (
    doc_id INTEGER PRIMARY KEY,
    syntax TEXT NOT NULL,
    number TEXT,
    seller_code TEXT,
    seller_name TEXT,
    issue_date TEXT,
    due_date TEXT,
    payment_due TEXT,
    currency TEXT,
    total TEXT,
    quantity TEXT,
    referral_doc_id INTEGER,
    match_method TEXT,
    candidates TEXT NOT NULL,
    state TEXT NOT NULL,
    checks TEXT NOT NULL,
    errors TEXT NOT NULL,
    data TEXT,
    decided_by TEXT,
    decided_at TEXT,
    reason TEXT
);
CREATE INDEX invoices_seller_number ON invoices (seller_code, number);
CREATE INDEX invoices_referral ON invoices (referral_doc_id);
CREATE INDEX invoices_state_due ON invoices (state, payment_due);
