"""The operator API: what every step of a pipeline implements.

Part of the vocabulary floor, beside :mod:`peppers.image`: it imports
nothing of peppers but that, so image I/O, geometry, the operators, the
engine and the scheduler can all build on it.

An operator is a small class with three duties (see ``docs/operators.md``):

``output_spec(input_specs)``
    Which images it makes (shape, dtype, no-data) from the specs of its
    inputs. Several inputs and several outputs are allowed, named by ports.
``input_region(output_region, input_specs)``
    Which region of each input one output region needs: the region plus a
    halo for filters, the bounding box of the mapped region (plus the
    interpolation kernel) for operators that move pixels. The answer may
    reach outside the input image; the engine clips it and fills the rest
    according to :attr:`LocalOperator.edge_mode`.
``compute(inputs, output_region)``
    The pure computation on arrays: ``inputs[port]`` holds exactly the region
    that ``input_region`` asked for; the result holds exactly
    ``output_region`` for every output port.

Kinds
-----
``local``
    Each output tile depends on a bounded input region. Chains of local
    operators form one stream; tiles are pulled through them.
``global``
    Needs whole images (phase unwrapping). A stream boundary: its inputs are
    on disk; it reads and writes through :class:`ImageSource` /
    :class:`ImageSink` in whatever pattern it likes.
``reduction``
    Image(s) in, values out (coregistration offsets into HKV). Also a
    boundary.

Parameters
----------
Operators declare their parameters as :class:`Param` entries so the
scheduler can track the values they read and ``pep op NAME --help`` can list
them. An instance holds validated values as attributes.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from peppers.bounds import BOUNDS, violation
from peppers.errors import OperatorError, ParameterError, PeppersError
from peppers.image import ImageSink, ImageSource, ImageSpec, Region

EDGE_MODES = ("reflect", "constant", "nodata")
KINDS = ("local", "global", "reduction")

__all__ = ["EDGE_MODES", "KINDS", "GlobalOperator", "ImageSink", "ImageSource", "ImageSpec",
           "LocalOperator", "Operator", "Param", "ReductionOperator", "Region", "build_operator",
           "operator_class"]


@dataclass(frozen=True)
class Param:
    """A declared operator parameter.

    Parameters
    ----------
    name : str
        Attribute name on the operator instance.
    type : type
        ``int``, ``float``, ``str``, ``bool``, ``tuple`` or ``list``.
    default : object
        Default value (must be of ``type``).
    doc : str
        One line for ``--help`` and the docs.
    key : str or None
        The HKV key the value is read from in a run (e.g.
        ``insar.coherence.window``); None if it is set only by the rule.
        A keyed parameter is declared once, here: ``peppers/parameters.yaml``
        holds the same type, default and bounds (a test checks it; see
        ``docs/operators.md``, "Parameters").
    ge, gt, le : float or None
        Bounds: ``value >= ge``, ``value > gt``, ``value <= le`` (for a
        tuple or list, every item).
    choices : tuple or None
        The allowed values.
    """

    name: str
    type: type
    default: Any
    doc: str
    key: str | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    choices: tuple[Any, ...] | None = None

    @property
    def bounds(self) -> dict[str, Any]:
        """The bounds that are set, by name (``ge``, ``gt``, ``le``, ``choices``)."""
        return {b: getattr(self, b) for b in BOUNDS if getattr(self, b) is not None}

    def coerce(self, value: Any, owner: str) -> Any:
        """Return ``value`` as this parameter's type, or raise a clear error.

        Raises
        ------
        TypeError
            If ``value`` is not of the declared type.
        ParameterError
            (an ``OperatorError`` and a ``ValueError``) if it breaks a bound
            (``ge``, ``gt``, ``le``, ``choices``); the message names the
            operator, the parameter and its key.
        """
        value = self._typed(value, owner)
        if self.bounds:
            problem = violation(value, **self.bounds)
            if problem is not None:
                key = f" ({self.key})" if self.key else ""
                raise ParameterError(f"{owner}: parameter {self.name!r}{key}: {problem}")
        return value

    def _typed(self, value: Any, owner: str) -> Any:
        if self.type is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if self.type in (tuple, list) and isinstance(value, (tuple, list)):
            return self.type(value)
        if isinstance(value, self.type) and not (self.type is int and isinstance(value, bool)):
            return value
        raise TypeError(
            f"{owner}: parameter {self.name!r} must be {self.type.__name__}, "
            f"got {value!r} ({type(value).__name__})"
        )


class Operator(ABC):
    """Base of all operators; see the module docstring for the contract.

    Subclasses set the class attributes and implement the kind's methods.
    ``Operator(**params)`` validates parameters against :attr:`params`.
    """

    #: Name used in rule files, logs and ``pep op NAME``.
    name: ClassVar[str] = ""
    #: ``local``, ``global`` or ``reduction``.
    kind: ClassVar[str] = "local"
    #: Bump when the computation changes: the scheduler reruns rules whose
    #: operator version differs from the one recorded.
    version: ClassVar[str] = "1"
    #: Input and output port names.
    inputs: ClassVar[tuple[str, ...]] = ("input",)
    outputs: ClassVar[tuple[str, ...]] = ("output",)
    #: Declared parameters.
    params: ClassVar[tuple[Param, ...]] = ()

    def __init__(self, **values: Any) -> None:
        known = {p.name: p for p in self.params}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise TypeError(
                f"{self.label}: unknown parameter(s) {unknown}; known: {sorted(known)}"
            )
        for p in self.params:
            setattr(self, p.name, p.coerce(values.get(p.name, p.default), self.label))

    @property
    def label(self) -> str:
        return self.name or type(self).__name__

    def param_values(self) -> dict[str, Any]:
        """The parameter values of this instance, by name."""
        return {p.name: getattr(self, p.name) for p in self.params}

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        """Specs of the outputs; default: each output like the first input."""
        first = input_specs[self.inputs[0]]
        return {port: first for port in self.outputs}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.param_values().items())
        return f"{type(self).__name__}({args})"


class LocalOperator(Operator):
    """An operator whose output tile needs only a bounded input region."""

    kind: ClassVar[str] = "local"
    #: How the engine fills requested input pixels outside the image:
    #: ``reflect`` (mirror without repeating the edge pixel, like
    #: ``numpy.pad(mode="reflect")``), ``constant`` (zero) or ``nodata``
    #: (the input's no-data value, NaN for floats without one).
    edge_mode: ClassVar[str] = "reflect"
    #: Halo in pixels, (rows, cols), used by the default ``input_region``.
    halo: ClassVar[tuple[int, int]] = (0, 0)

    def input_region(self, output_region: Region,
                     input_specs: Mapping[str, ImageSpec]) -> dict[str, Region]:
        """Input regions needed for ``output_region``; default: plus :attr:`halo`."""
        grown = output_region.grow(*self.halo)
        return {port: grown for port in self.inputs}

    @abstractmethod
    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        """Compute every output port for ``output_region``."""



class GlobalOperator(Operator):
    """An operator that needs whole images; a stream boundary."""

    kind: ClassVar[str] = "global"

    @abstractmethod
    def run(self, sources: Mapping[str, ImageSource],
            sinks: Mapping[str, ImageSink]) -> None:
        """Read ``sources`` and write every pixel of every sink."""



class ReductionOperator(Operator):
    """An operator that turns images into values (stored in HKV)."""

    kind: ClassVar[str] = "reduction"
    outputs: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def reduce(self, sources: Mapping[str, ImageSource]) -> dict[str, Any]:
        """Return a mapping of HKV key (relative to the rule's prefix) to value."""



#: The base class of each kind.
BASES: dict[str, type] = {"local": LocalOperator, "global": GlobalOperator,
                          "reduction": ReductionOperator}

#: Builds the error of a refused operator: ``error(part, message)``, ``part``
#: being ``"operator"`` (the ``module:Class`` text) or ``"params"``.
ErrorFactory = Callable[[str, str], Exception]


def _default_error(where: str) -> ErrorFactory:
    return lambda part, message: OperatorError(f"{where}: {message}")


def operator_class(spec: Any, where: str, *, kind: str | None = None,
                   error: ErrorFactory | None = None) -> type:
    """Import ``"module:Class"`` and check that it is an operator (of ``kind``, if given).

    Parameters
    ----------
    spec : str
        ``"module:Class"``, e.g. ``"peppers.operators.filters:BoxFilter"``.
    where : str
        Who asks (a rule's file and line, a stream node, ``pep op NAME``);
        starts every message of the default error.
    kind : str, optional
        ``local``, ``global`` or ``reduction``: the class must be of it.
    error : callable, optional
        ``error(part, message) -> Exception`` raised instead of the default
        :class:`~peppers.errors.OperatorError` (``"{where}: {message}"``).

    Returns
    -------
    type
        The :class:`Operator` subclass.

    Examples
    --------
    >>> operator_class("peppers.operators.filters:BoxFilter", "doc").name
    'box_filter'
    >>> operator_class("peppers.operators.filters:Nope", "doc")
    Traceback (most recent call last):
    ...
    peppers.errors.OperatorError: doc: unknown operator peppers.operators.filters:Nope: \
peppers.operators.filters has no 'Nope'
    """
    fail = error or _default_error(where)
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise fail("operator", f"operator must be 'module:Class', got {spec!r}")
    module_name, class_name = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import failure is the caller's to report
        raise fail("operator", f"unknown operator {spec}: cannot import {module_name} "
                   f"({type(exc).__name__}: {exc})") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise fail("operator", f"unknown operator {spec}: {module_name} has no {class_name!r}")
    base = Operator if kind is None else BASES[kind]
    if not isinstance(cls, type) or not issubclass(cls, base):
        what = "an operator" if kind is None else f"a {kind} operator"
        found = (f"; it is a {cls.kind} operator" if isinstance(cls, type)
                 and issubclass(cls, Operator) else "")
        raise fail("operator", f"{spec} is not {what} (a subclass of "
                   f"peppers.operator.{base.__name__}){found}")
    return cls


def build_operator(spec: Any, params: Mapping[str, Any], where: str, *,
                   kind: str | None = None, error: ErrorFactory | None = None) -> Operator:
    """The operator ``"module:Class"`` (or an operator class) made with ``params``.

    The one way every caller -- the scheduler's rules, a stream spec, MPI
    ranks, ``pep op`` -- turns an operator name and values into an instance.

    Parameters
    ----------
    spec : str or type
        ``"module:Class"``, or the class itself.
    params : mapping
        Parameter name -> value (validated by :class:`Operator`).
    where, kind, error
        As for :func:`operator_class`; a refused value raises
        ``error("params", "Class refuses its parameters: ...")``.

    Returns
    -------
    Operator

    Examples
    --------
    >>> build_operator("peppers.operators.filters:BoxFilter", {"size": [3, 3]}, "doc")
    BoxFilter(size=(3, 3))
    """
    fail = error or _default_error(where)
    cls = spec if isinstance(spec, type) else operator_class(spec, where, kind=kind,
                                                              error=error)
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, PeppersError):
            raise
        raise fail("params", f"{cls.__name__} refuses its parameters: {exc}") from None
