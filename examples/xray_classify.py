#!/usr/bin/python3
"""Classify an X-ray-like image on an attested Citadel server.

The data owner's view (docs/python.md): attest the server against a policy,
upload the vendor's model, send the image, print the class probabilities,
and keep a signed receipt that an auditor can verify offline later.

    # a local simulation server and its policy (see README.md):
    citadel serve --listen 127.0.0.1:8443 --state-dir /tmp/citadel-state --platform sim &
    echo '{"version": 1, "allow_simulation": true, "measurements": ["'$(citadel measure)'"]}' > policy.json

    PYTHONPATH=build/python /usr/bin/python3 examples/xray_classify.py \
        --server https://127.0.0.1:8443 --policy policy.json
"""

import argparse
import json
import os
import sys

import numpy as np

import citadel

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "models")
CLASSES = ["normal", "opacity", "effusion", "nodule"]  # made-up labels (the demo model has random weights)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", required=True, help="https://host:port")
    p.add_argument("--policy", required=True, help="client policy file (docs/policy.md)")
    p.add_argument("--token", default=os.environ.get("CITADEL_TOKEN"), help="bearer token (or CITADEL_TOKEN)")
    p.add_argument("--owner-key", help="owner key (PEM) for servers that require signed uploads")
    p.add_argument("--model", default=os.path.join(MODELS, "xray_cnn.onnx"))
    p.add_argument("--image", default=os.path.join(MODELS, "xray_sample.npy"), help=".npy, float32 [1,1,64,64]")
    p.add_argument("--receipt", default="xray_receipt.json", help="where to save the receipt")
    args = p.parse_args()

    image = np.load(args.image).astype(np.float32)

    try:
        with citadel.connect(args.server, policy=args.policy, token=args.token) as client:
            claims = client.attestation
            print(f"attested: platform={claims['platform']} measurement={claims['measurement'][:16]}...")
            if client.simulation:
                print("WARNING: SIMULATION platform - no TEE protects this data (development only)")

            info = client.upload_model(args.model, name="xray", owner_key=args.owner_key, progress=True)
            print(f"uploaded model 'xray' version {info.version} id {info.id[:16]}...")

            outputs, receipt = client.infer("xray", {"image": image}, receipt=True)
            probs = outputs["probabilities"][0]
            for label, pr in sorted(zip(CLASSES, probs), key=lambda t: -t[1]):
                print(f"  {label:10s} {pr:.4f}")
    except citadel.PolicyError as e:
        sys.exit(f"refused: the server does not satisfy the policy: {e.message}")
    except citadel.AttestationError as e:
        sys.exit(f"refused: the server's evidence did not verify: {e.message}")
    except citadel.CitadelError as e:
        sys.exit(f"error ({e.code}): {e.message}")

    with open(args.receipt, "w") as f:
        json.dump(receipt, f, indent=2)
    # What an auditor does later, offline: the receipt proves which model ran
    # on these exact inputs and produced these exact outputs, inside a TEE
    # the policy accepts.
    verified = citadel.verify_receipt(args.receipt, policy=args.policy,
                                      inputs={"image": image}, outputs=outputs)
    payload = verified["payload"]
    print(f"receipt verified: model {payload['model_id'][:16]}... counter {payload['counter']}"
          f"{' (SIMULATION)' if payload.get('simulation') else ''}; saved to {args.receipt}")


if __name__ == "__main__":
    main()
