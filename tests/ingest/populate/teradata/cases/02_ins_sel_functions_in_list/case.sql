INS INTO DW.Prod_Dim
SEL p.prod_id, TRIM(p.prod_nm), UPPER(p.cat_cd), p.price * 1.1
FROM SRC.Prod p WHERE p.cat_cd IN ('A', 'B');
