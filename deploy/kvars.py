"""Kubernetes' $(VAR) references in container commands, args and env values: the one reader
of them, for deploy/check.py (which checks them) and deploy/compose.py (which fills them in).

As Kubernetes does: `$(VAR)` is replaced by VAR's value when VAR is defined; `$$` is a literal
`$` (so `$$(VAR)` stays `$(VAR)`); an undefined reference stays as written. A value of None
stands for one Kubernetes knows and the file does not (a Secret's): it stays as written too.
"""
import re

_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def references(text):
    """The variables `text` refers to, in order ($$-escaped ones are not references)."""
    return [m.group(1) for m in _REF.finditer(text or "") if m.group(1)]


def expand(text, env, strict=False):
    """`text` with its references filled in from `env`. With `strict`, a reference without a
    value raises ValueError naming it, instead of staying as written."""
    def sub(m):
        var = m.group(1)
        if var is None:
            return "$"
        if env.get(var) is not None:
            return str(env[var])
        if strict:
            raise ValueError(f"$({var}) in '{text}' has no value")
        return m.group(0)
    return _REF.sub(sub, text)


if __name__ == "__main__":
    env = {"A": "x", "S": None}
    assert references("$(A)-$$(B)-$(C)") == ["A", "C"]
    assert expand("$(A)-$$(A)-$(C)-$(S)", env) == "x-$(A)-$(C)-$(S)"
    try:
        expand("--k=$(C)", env, strict=True)
        raise AssertionError("strict expansion accepted an undefined variable")
    except ValueError as e:
        assert "$(C)" in str(e)
    print("kvars: ok")
