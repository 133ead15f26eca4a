ALTER TABLE products ADD COLUMN search_name TEXT NOT NULL DEFAULT '';
UPDATE products SET search_name = lower(name);
CREATE INDEX products_by_category ON products (category, sku);
