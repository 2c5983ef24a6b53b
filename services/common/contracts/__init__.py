"""The request and response models of each service's HTTP API, one module per service.

A service declares its routes with these models and the typed clients in
``services/common/clients/`` return them, so both sides of a call read the same definition.
``songs`` holds the song itself, which every service passes around.
"""
