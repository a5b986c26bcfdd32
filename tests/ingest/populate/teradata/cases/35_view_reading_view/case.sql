REPLACE VIEW MART.V_Cust_EU AS
SELECT customer_id, customer_name FROM MART.V_Cust WHERE region = 'EU';
