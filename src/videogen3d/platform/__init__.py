"""The video experiment platform (seed 000 §5.3): the user's own videos in, translated videos out.

Seed 000 §5.3 describes a platform that "can split videos, generate datasets, train different
networks and generate a video with comparison of original data". Here each step is a module
and a ``videogen3d`` sub-command (``videogen3d.cli``):

- :mod:`.frames`     ``split`` videos into frame folders and ``join`` frame folders into MP4s;
- :mod:`.build`      ``build pairs`` / ``build labelled``: CSV manifests that ``dataset=video_pairs``
  and ``dataset=video_folder`` (:mod:`.sources`) read;
- :mod:`.checkpoint` a trained generator (translator or GAN) from a checkpoint and its run config;
- :mod:`.translate`  sliding-window inference over a whole video and the captioned comparison video;
- :mod:`.evaluate`   the metrics table of a checkpoint on a dataset split;
- :mod:`.corpus`     the bad-file corpus and ``check``: which files decode, and why not.

Training itself stays ``python train.py`` (Hydra).
"""
