"""CF standard names and ACDD 1.3 global attributes for the NetCDF writer.

The standard-name table is small on purpose: a name is given only when both the column name
and its canonical unit say what the quantity is. A wrong standard name is worse than none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from formats.model import DataFile, FeatureType

PRESSURE = frozenset({"hPa", "Pa", "kPa", "mbar", "millibar"})
TEMPERATURE = frozenset({"K", "degC", "degree_Celsius", "celsius"})
LENGTH = frozenset({"m", "km", "ft"})
SPEED = frozenset({"m/s", "m s-1", "km/h", "knot", "kt"})
ANGLE = frozenset({"degree", "degrees"})
FRACTION = frozenset({"1", "1e-6", "1e-9", "1e-12", "percent", "g kg-1", "g/kg"})
MOLE_CONCENTRATION = frozenset({"nmol m-3", "umol m-3", "mol m-3", "nmol/m3", "umol/m3"})
MASS_CONCENTRATION = frozenset({"ng/m3", "ug/m3", "ng m-3", "ug m-3", "kg m-3", "mg m-3"})
COLUMN_OZONE = frozenset({"DU", "Dobson"})
NUMBER_CONCENTRATION = frozenset({"cm-3", "m-3"})

# normalised column name -> ((standard_name, units that name allows), ...): the first
# candidate whose unit family holds the column's canonical unit wins.
_TABLE: dict[str, tuple[tuple[str, frozenset[str]], ...]] = {}

_MOLE_FRACTION_SPECIES = {
    "O3": "ozone",
    "CO": "carbon_monoxide",
    "CO2": "carbon_dioxide",
    "CH4": "methane",
    "N2O": "nitrous_oxide",
    "NO": "nitrogen_monoxide",
    "NO2": "nitrogen_dioxide",
    "SO2": "sulfur_dioxide",
    "DMS": "dimethyl_sulfide",
    "NH3": "ammonia",
    "SF6": "sulfur_hexafluoride",
    "H2": "molecular_hydrogen",
    "OCS": "carbonyl_sulfide",
    "C2H6": "ethane",
    "C3H8": "propane",
    "C2H2": "ethyne",
    "BENZ": "benzene",
    "TOL": "toluene",
    "HF22": "hcfc22",
    "F11B": "cfc11",
    "H2O": "water_vapor",
}


def _add(names: tuple[str, ...], *candidates: tuple[str, frozenset[str]]) -> None:
    for name in names:
        _TABLE[name] = candidates


_add(("LAT", "LATITUDE"), ("latitude", frozenset({"degrees_north"})))
_add(("LON", "LONG", "LONGITUDE"), ("longitude", frozenset({"degrees_east"})))
_add(
    ("ALT", "ALTITUDE", "GPS_ALT", "GPSALT", "GALT", "GGALT", "G_ALT", "ALT_GPS", "GPS_ALTITUDE"),
    ("altitude", LENGTH),
)
_add(("HGT", "HEIGHT", "HEIGHT_ABOVE_MSL"), ("altitude", LENGTH))
_add(("PRES", "PRESSURE", "PRESS", "PSTATIC", "PS"), ("air_pressure", PRESSURE))
_add(("TEMP", "TEMPERATURE", "TA", "AIRTEMP", "AT", "T"), ("air_temperature", TEMPERATURE))
_add(("DWPT", "DEWPOINT", "DEW_POINT", "TD"), ("dew_point_temperature", TEMPERATURE))
_add(("THETA", "POTENTIALTEMP", "POT_TEMP"), ("air_potential_temperature", TEMPERATURE))
_add(("RH", "RELHUM", "H2O_RELATIVEHUMIDITY", "RELATIVE_HUMIDITY"), ("relative_humidity", FRACTION))
_add(("WDIR", "WD", "WIND_DIRECTION"), ("wind_from_direction", ANGLE))
_add(("WSPD", "WS", "WIND_SPEED", "WINDSPEED"), ("wind_speed", SPEED))
_add(("U", "U_WIND", "U_WINDS", "UWIND", "ZONAL_WIND", "MEAN_ZONAL_WIND"), ("eastward_wind", SPEED))
_add(("V", "V_WIND", "V_WINDS", "VWIND"), ("northward_wind", SPEED))
_add(
    ("BC",),
    ("mass_concentration_of_elemental_carbon_dry_aerosol_particles_in_air", MASS_CONCENTRATION),
)
_add(("AOD", "AOD500"), ("atmosphere_optical_thickness_due_to_ambient_aerosol_particles", FRACTION))
_add(("SZA", "SOLARZENITHANGLE", "SOLAR_ZENITH_ANGLE"), ("solar_zenith_angle", ANGLE))
_add(("GRD_SPD", "GROUND_SPEED"), ("platform_speed_wrt_ground", SPEED))
_add(("TAS", "TRUE_AIRSPEED"), ("platform_speed_wrt_air", SPEED))
_add(("TRK", "TRACK"), ("platform_course", ANGLE))
_add(("PITCH",), ("platform_pitch", ANGLE))
_add(("ROLL",), ("platform_roll", ANGLE))
_add(("H2O_MIXINGRATIO", "MR", "MIXING_RATIO"), ("humidity_mixing_ratio", FRACTION))
_add(("H2O_VAPORPRESSURE", "VAPOR_PRESSURE"), ("water_vapor_partial_pressure_in_air", PRESSURE))
_add(("O3COLUMN", "O3_COLUMN"), ("atmosphere_mole_content_of_ozone", COLUMN_OZONE))
# Trace gases whose CF name exists only as a mole fraction (ICARTT merge spellings).
_MOLE_FRACTION_ONLY = {
    "FC12": "cfc12",
    "F113": "cfc113",
    "F114": "cfc114",
    "F115": "cfc115",
    "F13": "cfc13",
    "H1211": "halon1211",
    "H1301": "halon1301",
    "H2402": "halon2402",
    "F134A": "hfc134a",
    "F125": "hfc125",
    "F143A": "hfc143a",
    "F152A": "hfc152a",
    "F227E": "hfc227ea",
    "F23": "hfc23",
    "F32": "hfc32",
    "F365M": "hfc365mfc",
    "F236FA": "hfc236fa",
    "HF133A": "hcfc133a",
    "MEBR": "methyl_bromide",
    "MECL": "methyl_chloride",
    "DIBR": "dibromomethane",
    "DICL": "dichloromethane",
    "CF4": "carbon_tetrafluoride",
    "C2F6": "pfc116",
    "SO2F2": "sulfuryl_fluoride",
    "CH2BRCL": "bromochloromethane",
    "NC4H10": "butane",
}
for _symbol, _species in _MOLE_FRACTION_ONLY.items():
    _TABLE[_symbol] = ((f"mole_fraction_of_{_species}_in_air", FRACTION),)
_add(("GROUND_ELEVATION", "SURFACE_ALTITUDE"), ("surface_altitude", LENGTH))
_add(("ALTITUDE_AGL", "HEIGHT_AGL"), ("height", LENGTH))
_add(("SUNAZIMUTH", "SOLAR_AZIMUTH"), ("solar_azimuth_angle", ANGLE))
_add(
    ("OZONE_CONCENTRATION",),
    ("number_concentration_of_ozone_molecules_in_air", NUMBER_CONCENTRATION),
)

# The CF table has no mole concentration of these.
_NO_MOLE_CONCENTRATION = frozenset({"sulfur_hexafluoride", "carbonyl_sulfide"})
for _symbol, _species in _MOLE_FRACTION_SPECIES.items():
    _candidates = [(f"mole_fraction_of_{_species}_in_air", FRACTION)]
    if _species not in _NO_MOLE_CONCENTRATION:
        _candidates.append((f"mole_concentration_of_{_species}_in_air", MOLE_CONCENTRATION))
    _TABLE[_symbol] = tuple(_candidates)

_SPECIES_SUFFIX = re.compile(r"^([A-Za-z0-9]+)_(MixingRatio|MoleFraction)(_.*)?$", re.IGNORECASE)

# Standard names whose existence the writer relies on; a test checks them against the
# CF standard-name table that compliance-checker ships.
COORDINATE_STANDARD_NAMES = frozenset({"time", "latitude", "longitude", "altitude", "air_pressure"})
VERTICAL_POSITIVE = {"altitude": "up", "height": "up", "air_pressure": "down"}


def all_standard_names() -> frozenset[str]:
    """Every standard name the table can give (for tests against the CF table)."""
    return frozenset(name for cands in _TABLE.values() for name, _ in cands) | {"quality_flag"}


_LATITUDE = re.compile(
    r"^(?:G_?|GG|GPS_?|GNSS_?|NAV_?|INS_?|IRS_?|FMS_?|AC_?|AIRCRAFT_?|SITE_?|STATION_?)?"
    r"LAT(?:ITUDE)?(?:_?(?:DEG|DEGREES|N|GPS|INS|NAV|IRS|AC))?$"
)
_LONGITUDE = re.compile(
    r"^(?:G_?|GG|GPS_?|GNSS_?|NAV_?|INS_?|IRS_?|FMS_?|AC_?|AIRCRAFT_?|SITE_?|STATION_?)?"
    r"LON(?:G|GITUDE)?(?:_?(?:DEG|DEGREES|E|GPS|INS|NAV|IRS|AC))?$"
)


def position_kind(name: str) -> str | None:
    """`latitude` or `longitude` when a column name says so (`LAT`, `G_LAT`, `GGLAT`,
    `Latitude`, `GPS_LON`, `LONGITUDE`...), else None."""
    key = re.sub(r"[\s-]+", "_", name.strip().upper())
    if _LATITUDE.match(key):
        return "latitude"
    if _LONGITUDE.match(key):
        return "longitude"
    return None


def standard_name_for(name: str, unit: str | None) -> str | None:
    """The CF standard name of a column, or None when name and unit do not settle it."""
    if unit is None:
        return None
    kind = position_kind(name)
    if kind is not None:
        wanted = "degrees_north" if kind == "latitude" else "degrees_east"
        return kind if unit == wanted else None
    key = name.strip().upper()
    candidates = _TABLE.get(key)
    if candidates is None:
        match = _SPECIES_SUFFIX.match(name.strip())
        if match is None:
            return None
        candidates = _TABLE.get(match.group(1).upper())
        if candidates is None:
            return None
    for standard_name, units in candidates:
        if unit in units:
            return standard_name
    return None


def _iso(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "unnamed"


# Starts only where a run of address characters starts: tried from inside a long word, the
# search would rescan the rest of the word from every one of its characters (quadratic).
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"https?://[^\s<>\"']+")


def feature_id(datafile: DataFile) -> str:
    """A short, blank-free identifier of the file's one feature (platform and DID)."""
    header = datafile.header
    parts = [header.platform or "platform"]
    if header.did is not None:
        parts.append(f"DID{header.did}")
    return _safe_id("_".join(parts))


def _duration(seconds: float) -> str:
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"P{days}DT{hours}H{minutes}M{secs}S"


def _institution(pi_name: str) -> str | None:
    match = re.search(r"\(([^()]+)\)\s*$", pi_name)
    return match.group(1).strip() if match else None


AttrValue = str | float | int


def global_attributes(
    datafile: DataFile,
    *,
    now: datetime,
    resolution_s: float | None,
    overrides: Mapping[str, AttrValue] | None = None,
) -> dict[str, AttrValue]:
    """CF and ACDD 1.3 global attributes for `datafile`; `overrides` (e.g. the center's
    publisher and license) replace the defaults."""
    header = datafile.header
    attrs: dict[str, AttrValue] = {
        "Conventions": "CF-1.8, ACDD-1.3",
        "featureType": datafile.feature_type.value,
        **_description(datafile),
        **_people(datafile),
        **_provenance(datafile, _iso(now)),
        "standard_name_vocabulary": "CF Standard Name Table v93",
        "original_header": datafile.original_header,
    }
    if header.did is not None:
        attrs["did"] = header.did
    for key, value in header.extra.items():
        # Keys the source format has and CF/ACDD do not, kept beside the verbatim header.
        attrs.setdefault("header_" + re.sub(r"[^A-Za-z0-9_]", "_", key), str(value))
    attrs.update(_time_attributes(datafile.extent.start, datafile.extent.stop, resolution_s))
    attrs.update(_space_attributes(datafile))
    if overrides:
        attrs.update(overrides)
    return attrs


def _description(datafile: DataFile) -> dict[str, AttrValue]:
    """What the data are: title, summary, keywords, identifier, platform and instrument."""
    header = datafile.header
    variables = [c.original_name for c in datafile.data_columns]
    instrument = header.instrument or "unknown instrument"
    platform = header.platform or "unknown platform"
    remarks = "; ".join(r for r in header.remarks if r.strip())
    did = f", DID {header.did}" if header.did is not None else ""
    version = f".v{_safe_id(header.data_version)}" if header.data_version else ""
    return {
        "title": f"{instrument} on {platform}{did}",
        "summary": (
            f"{instrument} measurements from {platform}"
            f" ({header.location or 'location not given'}),"
            f" PI {header.pi_name or 'not given'}; variables: {', '.join(variables)}."
            + (f" {remarks}" if remarks else "")
        ),
        "keywords": ", ".join([*variables, platform, instrument]),
        "keywords_vocabulary": "FieldCat: variable, platform and instrument names as submitted",
        "id": feature_id(datafile) + version,
        "naming_authority": "fieldcat",
        "project": header.project or "not given",
        "program": header.project or "not given",
        "platform": platform,
        "platform_vocabulary": "FieldCat: platform names as submitted",
        "instrument": instrument,
        "instrument_vocabulary": "FieldCat: instrument names as submitted",
        "comment": remarks or "none",
    }


def _people(datafile: DataFile) -> dict[str, AttrValue]:
    """Creator (the PI, as the header names them; the organisation line of NASA Ames and
    ICARTT as institution) and a publisher the center overrides."""
    pi = datafile.header.pi_name
    email = _EMAIL.search(datafile.original_header)
    organization = " ".join(datafile.header.extra.get("ORGANIZATION", "").split())
    institution = _institution(pi) or organization or "not given"
    url = _URL.search(datafile.original_header)
    return {
        "creator_name": pi or "not given",
        "creator_type": "person",
        "creator_email": email.group(0) if email else "not given",
        "creator_url": url.group(0).rstrip(".,;)") if url else "not given",
        "creator_institution": institution,
        "institution": institution,
        "contributor_name": pi or "not given",
        "contributor_role": "principalInvestigator",
        "publisher_name": "FieldCat archive center",
        "publisher_type": "institution",
        "publisher_email": "not given",
        "publisher_url": "not given",
        "publisher_institution": "FieldCat archive center",
        "acknowledgment": f"Data provided by {pi or 'the PI'}.",
    }


def _provenance(datafile: DataFile, created: str) -> dict[str, AttrValue]:
    """Where the file came from, its version, dates and terms."""
    header = datafile.header
    instrument = header.instrument or "unknown instrument"
    platform = header.platform or "unknown platform"
    return {
        "source": f"{instrument} on {platform}; submitted as {datafile.source_format}",
        "processing_level": f"as submitted by the PI, data version {header.data_version or '?'}",
        "product_version": header.data_version or "not given",
        "references": "not given",
        "license": "Use is subject to the campaign data policy.",
        "history": _history(datafile, created),
        "date_created": created,
        "date_modified": created,
        "date_issued": created,
        "date_metadata_modified": created,
    }


def _history(datafile: DataFile, created: str) -> str:
    """One history line naming the source file and its SHA-256 when they are known."""
    source = datafile.source_name or "a submitted file"
    digest = f" (sha256 {datafile.source_sha256})" if datafile.source_sha256 else ""
    return f"{created} FieldCat converted {source}{digest} from {datafile.source_format}"


def _time_attributes(
    start: datetime | None, stop: datetime | None, resolution_s: float | None
) -> dict[str, AttrValue]:
    attrs: dict[str, AttrValue] = {}
    if start is not None and stop is not None:
        attrs["time_coverage_start"] = _iso(start)
        attrs["time_coverage_end"] = _iso(stop)
        attrs["time_coverage_duration"] = _duration((stop - start).total_seconds())
    if resolution_s is not None:
        attrs["time_coverage_resolution"] = _duration(resolution_s)
    return attrs


def _space_attributes(datafile: DataFile) -> dict[str, AttrValue]:
    extent = datafile.extent
    attrs: dict[str, AttrValue] = {}
    if None not in (extent.south, extent.north, extent.west, extent.east):
        s, n = float(extent.south or 0.0), float(extent.north or 0.0)
        w, e = float(extent.west or 0.0), float(extent.east or 0.0)
        attrs.update(
            geospatial_lat_min=s,
            geospatial_lat_max=n,
            geospatial_lon_min=w,
            geospatial_lon_max=e,
            geospatial_lat_units="degrees_north",
            geospatial_lon_units="degrees_east",
            geospatial_lat_resolution="point" if s == n else "irregular",
            geospatial_lon_resolution="point" if w == e else "irregular",
            geospatial_bounds_crs="EPSG:4326",
        )
        if s == n and w == e:
            attrs["geospatial_bounds"] = f"POINT ({s} {w})"
        else:
            attrs["geospatial_bounds"] = f"POLYGON (({s} {w}, {n} {w}, {n} {e}, {s} {e}, {s} {w}))"
    if datafile.feature_type is FeatureType.TRAJECTORY:
        attrs["cdm_data_type"] = "Trajectory"
    elif datafile.feature_type is FeatureType.PROFILE:
        attrs["cdm_data_type"] = "Profile"
    else:
        attrs["cdm_data_type"] = "Station"
    return attrs
