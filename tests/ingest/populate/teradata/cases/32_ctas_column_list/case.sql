CREATE MULTISET TABLE DW.Region_Cnt (region, n) AS (
  SELECT region_cd, COUNT(*) FROM SRC.Cust GROUP BY region_cd
) WITH DATA PRIMARY INDEX (region);
