-- Run by the SQLite shell on a new database file (tests/programs/matrix.sh):
-- schema, inserts in a transaction, an index, queries with aggregates and a join, an error
-- (the shell reports it on stderr and goes on), and a second file written by the shell.
.headers on
.mode list
CREATE TABLE author(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, born INTEGER);
CREATE TABLE book(id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES author(id),
                  title TEXT, year INTEGER, price REAL);
BEGIN;
INSERT INTO author(name, born) VALUES ('Austen', 1775), ('Dickens', 1812), ('Eliot', 1819),
  ('Tolstoy', 1828), ('Woolf', 1882);
INSERT INTO book(author_id, title, year, price) VALUES
  (1, 'Pride and Prejudice', 1813, 9.99), (1, 'Emma', 1815, 7.5), (1, 'Persuasion', 1817, 6.25),
  (2, 'Oliver Twist', 1838, 8.0), (2, 'Bleak House', 1853, 12.49), (2, 'Great Expectations', 1861, 10.0),
  (3, 'Middlemarch', 1871, 14.2), (4, 'War and Peace', 1869, 19.95), (4, 'Anna Karenina', 1878, 15.0),
  (5, 'Mrs Dalloway', 1925, 11.11), (5, 'To the Lighthouse', 1927, NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
  INSERT INTO book(author_id, title, year, price)
  SELECT 1 + i % 5, printf('Volume %03d', i), 1900 + i % 100, round(i * 0.37, 2) FROM n;
COMMIT;
CREATE INDEX book_year ON book(year);
CREATE INDEX book_author ON book(author_id, price);
SELECT count(*) AS books, count(price) AS priced, round(sum(price), 2) AS total,
       round(avg(price), 4) AS mean, min(year) AS first, max(year) AS last FROM book;
SELECT a.name, count(b.id) AS n, round(avg(b.price), 3) AS avg_price, max(b.year) AS latest
  FROM author a LEFT JOIN book b ON b.author_id = a.id GROUP BY a.id ORDER BY n DESC, a.name;
SELECT title, year FROM book WHERE year BETWEEN 1850 AND 1880 ORDER BY year;
SELECT a.name, b.title FROM book b JOIN author a ON a.id = b.author_id
  WHERE b.price > 12 AND b.title NOT LIKE 'Volume%' ORDER BY b.price DESC;
EXPLAIN QUERY PLAN SELECT * FROM book WHERE year = 1871;
SELECT year / 10 * 10 AS decade, count(*) AS n, group_concat(DISTINCT author_id) AS authors
  FROM book GROUP BY decade HAVING n > 40 ORDER BY decade LIMIT 5;
SELECT printf('%.3f|%e|%10.2f|%-6s|', 3.14159265, 12345.678, -0.5, 'ab') AS fmt,
       typeof(1), typeof(1.0), typeof('x'), typeof(NULL), 7 / 2, 7 / 2.0, 1e308 * 10;
SELECT name FROM nosuch;
INSERT INTO author(name) VALUES ('Austen');
UPDATE book SET price = price * 1.1 WHERE author_id = 2;
DELETE FROM book WHERE title LIKE 'Volume 4%';
SELECT changes(), total_changes() > 0, (SELECT count(*) FROM book) AS left_books;
SELECT sqlite_version() AS version;
PRAGMA integrity_check;
.mode csv
.output export.csv
SELECT id, name, born FROM author ORDER BY id;
.output stdout
.mode list
SELECT 'done';
