"""``python -m cloudserver.workers <twistd arguments>``: a worker process,
twistd under a name ``ps`` tells apart (the supervisor starts it so)."""
from twisted.scripts.twistd import run

if __name__ == "__main__":
    run()
