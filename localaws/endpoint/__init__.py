"""The HTTP endpoint on 127.0.0.1 that serves moto's backends (and the console) to every client."""
