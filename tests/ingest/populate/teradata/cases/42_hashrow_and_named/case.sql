INSERT INTO DW.Cust_Dim (cust_id, email_hash)
SELECT cust_id (NAMED cid), HASHROW(email) FROM SRC.Cust;
