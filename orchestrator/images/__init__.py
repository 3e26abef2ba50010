"""The images: build context and content tags, docker-py builds, size budget, image policy.

context       which files a build takes in, and the content tag they give
build         parallel builds on the Docker engine, measured against the budget
build_lock    one build of a content tag at a time on this machine (a second run waits)
budget        the size budget (total and per image)
policy        the image policy rules and the vulnerability scan
policy_cache  results of already-checked images, reused while nothing they depend on changed
pipeline      build -> budget -> policy, the image step of `up` and `build`
"""
