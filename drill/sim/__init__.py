"""The embedded simulated tenant: Entra sign-in, Graph, Log Analytics, alerts and mail over real HTTPS.

Only `drill.run.demo` and `drill.testing` may import this package; the product talks to it over the network.
"""
