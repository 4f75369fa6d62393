"""Services: one per feature. Each owns its feature's policy (limits, what counts as stale, what is stored) and its
persistence (through `storage.repo`), and returns typed outcomes (dataclasses) that handlers render. Services never
import aiogram or `handlers/`; they may import `models/`, `storage/` and `digests/`. Errors a user caused are
`chatkit.errors.UserInputError`; model and image-API failures keep their own types (`models.errors.ModelError`,
`models.imagegen.errors.ImageGenError`). The feature routers turn all three into localized replies
(handlers/failures.py)."""
