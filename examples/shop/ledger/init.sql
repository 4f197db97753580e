CREATE TABLE products (
  id serial PRIMARY KEY,
  sku text UNIQUE NOT NULL,
  name text NOT NULL,
  price_cents integer NOT NULL CHECK (price_cents >= 0),
  stock integer NOT NULL DEFAULT 0
);

CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer text NOT NULL,
  product_id integer NOT NULL REFERENCES products (id),
  quantity integer NOT NULL CHECK (quantity > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO products (sku, name, price_cents, stock) VALUES
  ('KB-101', 'Mechanical keyboard', 8900, 40),
  ('MS-202', 'Wireless mouse', 2900, 120),
  ('MN-303', '27" monitor', 24900, 15),
  ('HS-404', 'Headset', 5900, 60),
  ('CB-505', 'USB-C cable', 900, 500),
  ('DK-606', 'Docking station', 13900, 25);
