"""Environmental monitoring: VN_AQI and US EPA AQI, QCVN limits, Circular 10/2021 feeds."""
