-- Labels (docs/labels.md): each network's layout, and the return address a merchant prints as the sender.
ALTER TABLE networks ADD COLUMN label_layout TEXT NOT NULL DEFAULT 'standard';
ALTER TABLE merchants ADD COLUMN return_address TEXT;
