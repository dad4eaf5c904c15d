import numpy as np
import pytest
import torch
from support.models import small_split
from support.shipped import section

from enttag.encode.windows import IGNORE
from enttag.errors import EnttagError
from enttag.model.inference import predict, weighted_loss
from enttag.model.network import (
    EntityTagger,
    load_encoder,
    model_from_checkpoint,
    prune_embeddings,
    read_checkpoint,
    save_model,
)
from enttag.training.loop import param_groups


def test_weighted_loss_matches_a_hand_computation_and_ignores_padding():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [5.0, -5.0], [0.3, 0.1]])
    labels = torch.tensor([0, 1, IGNORE, 1])
    weights = torch.tensor([4.0, 1.0])
    logp = torch.log_softmax(logits, dim=-1)
    by_hand = -(4.0 * logp[0, 0] + 1.0 * logp[1, 1] + 1.0 * logp[3, 1]) / (4.0 + 1.0 + 1.0)
    assert weighted_loss(logits, labels, weights).item() == pytest.approx(by_hand.item())


def tagger(tiny_encoder, dropout=0.0):
    torch.manual_seed(0)
    return EntityTagger(load_encoder(tiny_encoder, None, dropout), dropout)


def test_param_groups_carry_the_two_learning_rates(tiny_encoder):
    model = tagger(tiny_encoder)
    groups = param_groups(model, section("train", encoder_lr=1e-5, head_lr=5e-3, weight_decay=0.1))
    by_name = {g["name"]: g for g in groups}
    assert by_name["encoder"]["lr"] == by_name["encoder_no_decay"]["lr"] == 1e-5
    assert by_name["head"]["lr"] == by_name["head_no_decay"]["lr"] == 5e-3
    assert by_name["head_no_decay"]["weight_decay"] == 0.0  # the head's bias
    assert by_name["encoder"]["weight_decay"] == 0.1
    n_params = sum(p.numel() for g in groups for p in g["params"])
    assert n_params == sum(p.numel() for p in model.parameters())


def test_saved_model_loads_weights_only_and_predicts_the_same(tiny_encoder, tmp_path):
    texts = ["张三在北京大学工作。", "王" * 40, "李"]
    char_map, specials, data = small_split(tiny_encoder, texts)
    model = tagger(tiny_encoder).eval()
    cpu = torch.device("cpu")
    before, _, _ = predict(model, data, batch_size=2, pad_id=specials.pad, device=cpu)
    path = tmp_path / "model.pkl"
    save_model(
        path,
        model,
        char_map=char_map,
        specials=specials,
        max_length=16,
        stride=4,
        extra={"threshold": 0.4},
    )
    raw = torch.load(path, weights_only=True)  # plain data only
    assert raw["char_to_id"] == char_map and raw["threshold"] == 0.4
    after, _, _ = predict(
        model_from_checkpoint(read_checkpoint(path)),
        data,
        batch_size=3,
        pad_id=specials.pad,
        device=cpu,
    )
    assert [len(p) for p in after] == [len(t) for t in texts]
    for a, b in zip(before, after, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_pruned_model_keeps_the_kept_rows_and_the_outputs(tiny_encoder, tmp_path):
    kept = [0, 1, 2, 3, 10, 11]
    full = load_encoder(tiny_encoder, 1, 0.0).eval()
    assert full.config.num_hidden_layers == 1
    pruned = load_encoder(tiny_encoder, 1, 0.0)
    prune_embeddings(pruned, kept, pad_id=0)
    model = EntityTagger(pruned).eval()
    weight = model.encoder.get_input_embeddings().weight
    torch.testing.assert_close(weight, full.get_input_embeddings().weight[kept])
    old_ids, new_ids = torch.tensor([[2, 10, 11, 10, 3]]), torch.tensor([[2, 4, 5, 4, 3]])
    mask = torch.ones_like(old_ids)
    with torch.no_grad():  # row i of the pruned table is old row kept[i]: same states
        expected = full(input_ids=old_ids, attention_mask=mask).last_hidden_state
        got = model.encoder(input_ids=new_ids, attention_mask=mask).last_hidden_state
    torch.testing.assert_close(got, expected)
    path = tmp_path / "m.pkl"
    save_model(
        path, model, char_map={}, specials=specials_of_ids(), max_length=16, stride=4, extra={}
    )
    rebuilt = model_from_checkpoint(read_checkpoint(path))
    torch.testing.assert_close(rebuilt.encoder.get_input_embeddings().weight, weight)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(new_ids, mask), model(new_ids, mask))


def specials_of_ids():
    from enttag.encode.charmap import Specials

    return Specials(cls=2, sep=3, pad=0, unk=1)


def test_other_files_are_refused(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pkl")
    with pytest.raises(EnttagError, match="not an enttag model"):
        read_checkpoint(tmp_path / "other.pkl")
    with pytest.raises(EnttagError, match="not found"):
        read_checkpoint(tmp_path / "missing.pkl")
