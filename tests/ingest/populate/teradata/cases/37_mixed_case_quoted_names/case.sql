insert into dw.ORD_FACT (ORD_ID, Amt)
select X.Ord_Id, x."Net Amount" from src.order_extra X;
