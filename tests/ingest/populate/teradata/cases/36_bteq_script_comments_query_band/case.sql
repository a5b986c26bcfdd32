.LOGON tdp/etl_user,secret
.SET WIDTH 200
SET QUERY_BAND = 'JobName=nightly_sales;' FOR SESSION;
BT;
/* INSERT INTO DW.Sales SELECT * FROM SRC.Ord;  -- text, not SQL */
INSERT INTO DW.Sales (cust_id, total_amt)
SELECT cust_id, SUM(amt)   -- total; per customer
FROM SRC.Ord
GROUP BY cust_id;
.IF ERRORCODE <> 0 THEN .GOTO ERR
ET;
.LABEL ERR
.QUIT ERRORCODE
