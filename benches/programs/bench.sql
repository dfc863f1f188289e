-- The SQLite workload of `bench` (benches/src/programs.rs), run by the SQLite shell on an
-- in-memory database: `sqlite3 :memory: ".parameter set @n N" ".read bench.sql"`.
-- Inserts N orders (and N/10 customers, 100 products) in one transaction, indexes them, then
-- runs aggregates, joins, a correlated subquery, sorting and string work. Everything printed is
-- deterministic, so the four engines' outputs can be compared byte for byte.
.headers on
.mode list
CREATE TABLE customer(id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL);
CREATE TABLE product(id INTEGER PRIMARY KEY, label TEXT NOT NULL, price REAL NOT NULL);
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, product_id INTEGER NOT NULL,
                    qty INTEGER NOT NULL, day INTEGER NOT NULL, note TEXT);
BEGIN;
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 100)
  INSERT INTO product(id, label, price)
  SELECT i, printf('product-%03d-%s', i, substr('abcdefghijklmnopqrstuvwxyz', 1 + i % 26, 5)),
         round(1.5 + (i * 37 % 200) / 4.0, 2) FROM k;
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < max(@n / 10, 1))
  INSERT INTO customer(id, name, city)
  SELECT i, printf('customer %d', i * 7919 % 100003),
         CASE i % 7 WHEN 0 THEN 'Lisbon' WHEN 1 THEN 'Oslo' WHEN 2 THEN 'Quito' WHEN 3 THEN 'Hanoi'
                    WHEN 4 THEN 'Perth' WHEN 5 THEN 'Lagos' ELSE 'Lima' END FROM k;
-- A linear congruential sequence, so the rows look unordered but are the same on every engine.
WITH RECURSIVE k(i, r) AS (SELECT 1, 12345 UNION ALL
                           SELECT i + 1, (r * 1103515245 + 12345) % 2147483648 FROM k WHERE i < @n)
  INSERT INTO orders(id, customer_id, product_id, qty, day, note)
  SELECT i, 1 + r % max(@n / 10, 1), 1 + (r / 7) % 100, 1 + (r / 11) % 9, (r / 13) % 365,
         CASE WHEN r % 5 = 0 THEN printf('gift %04x', r % 65536) ELSE NULL END FROM k;
COMMIT;
CREATE INDEX orders_customer ON orders(customer_id, day);
CREATE INDEX orders_product ON orders(product_id);
CREATE INDEX customer_city ON customer(city, name);
UPDATE orders SET qty = qty + 1 WHERE day % 30 = 0;
DELETE FROM orders WHERE id % 97 = 0;
SELECT count(*) AS orders, sum(qty) AS items, count(note) AS gifts, min(day) AS first,
       max(day) AS last FROM orders;
SELECT c.city, count(*) AS n, sum(o.qty) AS items, round(sum(o.qty * p.price), 2) AS revenue
  FROM orders o JOIN customer c ON c.id = o.customer_id JOIN product p ON p.id = o.product_id
  GROUP BY c.city ORDER BY revenue DESC;
SELECT p.label, sum(o.qty) AS sold FROM orders o JOIN product p ON p.id = o.product_id
  GROUP BY p.id ORDER BY sold DESC, p.label LIMIT 5;
SELECT c.name, total FROM (SELECT customer_id, sum(qty) AS total FROM orders GROUP BY customer_id) t
  JOIN customer c ON c.id = t.customer_id ORDER BY total DESC, c.id LIMIT 5;
SELECT day / 30 AS month, count(*) AS n, round(avg(qty), 4) AS mean_qty FROM orders
  GROUP BY month ORDER BY month;
SELECT count(*) AS above_average FROM orders o
  WHERE qty > (SELECT avg(qty) FROM orders x WHERE x.customer_id = o.customer_id);
SELECT count(DISTINCT customer_id) AS buyers, count(DISTINCT note) AS distinct_notes FROM orders
  WHERE note LIKE 'gift 1%';
SELECT city, group_concat(name, '|') AS first_names FROM (
  SELECT city, name, row_number() OVER (PARTITION BY city ORDER BY name) AS rn FROM customer)
  WHERE rn <= 2 GROUP BY city ORDER BY city;
SELECT sum(length(upper(c.name) || lower(p.label))) AS text_bytes FROM orders o
  JOIN customer c ON c.id = o.customer_id JOIN product p ON p.id = o.product_id WHERE o.id % 3 = 0;
