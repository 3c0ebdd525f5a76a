"""peppers/ppe"""
