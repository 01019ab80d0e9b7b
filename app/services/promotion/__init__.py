"""Investment promotion (招商): investors (客商) and their credit codes, the follow-up log
(跟踪记录), contracted and utilised foreign investment, signing events and cohorts."""
