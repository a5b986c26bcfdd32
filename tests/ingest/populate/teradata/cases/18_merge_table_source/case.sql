MERGE INTO DW.Prod_Dim t
USING SRC.Prod s
ON t.prod_id = s.prod_id
WHEN MATCHED THEN UPDATE SET prod_nm = s.prod_nm, price = s.price
WHEN NOT MATCHED THEN INSERT (prod_id, prod_nm, cat_cd, price)
     VALUES (s.prod_id, s.prod_nm, s.cat_cd, s.price);
