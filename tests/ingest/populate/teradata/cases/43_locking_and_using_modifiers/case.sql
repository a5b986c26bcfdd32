LOCKING TABLE SRC.Ord FOR ACCESS
INSERT INTO DW.Sales (cust_id, total_amt)
SELECT cust_id, SUM(amt) FROM SRC.Ord GROUP BY 1;
USING (p_id INTEGER) INSERT INTO DW.Prod_Dim (prod_id) VALUES (:p_id);
