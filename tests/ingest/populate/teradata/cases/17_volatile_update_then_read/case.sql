CREATE VOLATILE TABLE vt AS (SELECT cust_id, cust_nm FROM SRC.Cust) WITH DATA ON COMMIT PRESERVE ROWS;
UPDATE vt SET cust_nm = UPPER(cust_nm) WHERE cust_id > 0;
INSERT INTO DW.Cust_Dim (cust_id, cust_nm) SELECT cust_id, cust_nm FROM vt;
