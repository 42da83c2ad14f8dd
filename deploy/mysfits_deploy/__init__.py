"""Mythical Mysfits on AWS: the stacks in deploy order and the steps that deploy them."""
