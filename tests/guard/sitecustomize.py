# Put on PYTHONPATH of subprocesses started by tests: the network guard applies to them too.
from network_guard import install

install()
