"""One-machine stand-ins for the AWS parts of Mythical Mysfits, and the command that runs the stack."""
